"""EM one half-step at a time: whole-array E- and M-steps and a stepping session."""
