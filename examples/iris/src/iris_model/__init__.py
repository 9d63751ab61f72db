"""The iris classifier's serving code."""
