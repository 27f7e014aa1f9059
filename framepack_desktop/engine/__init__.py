"""The generation engine. No Qt and no UI imports anywhere below this package."""
