"""journeys: a Kubernetes operator that runs journeys and ends them safely (close or stop)."""
