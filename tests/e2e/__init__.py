"""Real-browser journeys (Chromium + selenium); see conftest.py."""
