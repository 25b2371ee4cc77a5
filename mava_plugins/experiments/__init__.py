"""Multi-seed experiments (``mava experiment``) and their statistical reports (``mava report``)."""
