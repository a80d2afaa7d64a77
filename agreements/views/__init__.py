"""The agreements pages, one module per audience: the register, one agreement and its actions, the agreement form,
and the frontline check."""
