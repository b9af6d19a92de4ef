"""Web views, Prometheus metrics and Grafana dashboards."""
