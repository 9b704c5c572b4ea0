"""The rubric's items, one module per reference module they grade."""
