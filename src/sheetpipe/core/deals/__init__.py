"""A deal's life: its ID, score, health, stage history and playbook tasks, new
leads taken in from form tabs, won deals carried to the next pipeline."""
