"""What the generated hostile and accident-prone students type into their first answer cell.

Each file is the literal code of one kind (see :mod:`grader.classgen`); a line that assigns
an upper-case name ending in ``# filled in by grader.classgen`` gets the lesson's value.
These files are read as text, never imported by the grader.
"""
