"""The book's copy of an executed notebook names no folder of the builder's machine."""

from __future__ import annotations

import json

from veiligverder.pipeline.book import WITHHELD_NOTE, for_readers


def executed(params: dict, output: str) -> bytes:
    source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    return json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"papermill": {"parameters": params, "input_path": "/home/ann/in.ipynb"}},
        "cells": [
            {"cell_type": "code", "id": "a", "metadata": {"tags": ["injected-parameters", "remove-cell"]},
             "source": source, "outputs": [], "execution_count": 1},
            {"cell_type": "code", "id": "b", "metadata": {"tags": []}, "source": "results.save()",
             "outputs": [{"output_type": "execute_result", "execution_count": 2, "metadata": {},
                          "data": {"text/plain": [output]}}], "execution_count": 2},
        ],
    }).encode()


def test_folders_become_none_and_their_names_in_outputs_placeholders():
    params = {"data_dir": "/home/ann/vv-haaglanden/data", "out_dir": "/home/ann/out/.run",
              "keys_dir": None, "seed": 7, "follow_up_rule": "T1", "label": "/abs/elsewhere"}
    nb = json.loads(for_readers(executed(params, "PosixPath('/home/ann/out/.run/.work/fragments/x.json')")))
    assert nb["metadata"]["papermill"] == {"parameters": {
        "data_dir": None, "out_dir": None, "keys_dir": None, "seed": 7, "follow_up_rule": "T1", "label": None}}
    assert nb["cells"][0]["source"] == "\n".join([
        WITHHELD_NOTE, "data_dir = None", "out_dir = None", "keys_dir = None", "seed = 7",
        "follow_up_rule = 'T1'", "label = None"])
    assert nb["cells"][1]["outputs"][0]["data"]["text/plain"] == ["PosixPath('<out_dir>/.work/fragments/x.json')"]
    assert nb["cells"][1]["source"] == "results.save()"  # code and other cells as executed
    assert "/home/ann" not in json.dumps(nb)


def test_without_parameters_only_the_note_and_the_source_paths_change():
    raw = executed({}, "42")
    expected = json.loads(raw)
    expected["metadata"]["papermill"] = {"parameters": {}}  # input_path (a folder of the builder) dropped
    expected["cells"][0]["source"] = WITHHELD_NOTE
    assert json.loads(for_readers(raw)) == expected


def test_stderr_outputs_finds_warnings_and_errors_and_nothing_else(tmp_path):
    """The helper behind the build tests 'no chapter writes to stderr' (tests/support/builds.py)."""
    from support.builds import stderr_outputs

    (tmp_path / "notebooks").mkdir()
    clean = json.loads(executed({"seed": 1}, "42"))
    (tmp_path / "notebooks" / "clean.ipynb").write_text(json.dumps(clean))
    noisy = json.loads(executed({"seed": 1}, "42"))
    noisy["cells"][1]["outputs"] += [
        {"output_type": "stream", "name": "stdout", "text": ["printed, not a warning\n"]},
        {"output_type": "stream", "name": "stderr", "text": ["/x/statsmodels/glm.py:1486: SingularMatrixWarning: ",
                                                               "The design matrix is rank-deficient.\n"]},
        {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": []}]
    (tmp_path / "notebooks" / "noisy.ipynb").write_text(json.dumps(noisy))
    assert stderr_outputs(tmp_path) == {"noisy": [
        "/x/statsmodels/glm.py:1486: SingularMatrixWarning: The design matrix is rank-deficient.\n",
        "ZeroDivisionError: division by zero"]}
