"""mlgate's lint rules, one module per rule, named after the pattern it reports."""
