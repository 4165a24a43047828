"""What a Dagster YAML file (an instance or a workspace) reads from the environment."""


def env_references(node) -> set[str]:
    """The variables a Dagster YAML file reads with `{env: NAME}`."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(env_references(value) for value in node))
    return set()
