"""What the manager types: Settings, Weights (the scoring rules), Stages and
Team, each parsed into a model with every problem named by its cell."""
