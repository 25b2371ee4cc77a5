"""Built-in Mava plugins: systems, environments, components and backends."""
