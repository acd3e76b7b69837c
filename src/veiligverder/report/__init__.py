"""Presentation helpers shared by the chapter notebooks: figure theme, tables, results, scorecard."""
