"""The GitHub layer: inputs, step outputs, masks, the job summary, Port run reporting and
terminal output. Operations never import it; the entrypoint wires it to them."""
