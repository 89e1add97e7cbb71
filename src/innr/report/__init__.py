"""The report: results files -> seaborn figures -> jinja2 -> LaTeX -> PDF.

    python -m innr.report --config experiments/quick.toml [--results DIR]

load.py reads the results files into tidy DataFrames; decide.py decides on their numbers,
sentences.py phrases the decisions and verdicts.py holds both per claim; formats.py prints every
number; figures.py draws the results, tables.py lays them out; paper.py builds the template's
context, renders paper/innr_report.tex.j2 and runs latexmk.
Nothing here trains a network: the report is a pure function of the results files.
"""
