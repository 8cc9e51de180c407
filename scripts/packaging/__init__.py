"""Building the installable pipeline: the int8 encoder, the wheel and its model card."""
