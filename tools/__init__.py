"""Developer and CI tools that run before (or outside) the course's virtual environment: stdlib only."""
