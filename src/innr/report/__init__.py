"""The report: results files -> seaborn figures -> jinja2 -> LaTeX -> PDF.

    python -m innr.report --config experiments/quick.toml [--results DIR]

load.py reads the results files into tidy DataFrames, figures.py draws them, tables.py formats
them, paper.py builds the template's context, renders paper/innr_report.tex.j2 and runs latexmk.
Nothing here trains a network: the report is a pure function of the results files.
"""
