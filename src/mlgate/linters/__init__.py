"""mlgate's lint rules and the engine that runs them over one parsed tree per file."""
