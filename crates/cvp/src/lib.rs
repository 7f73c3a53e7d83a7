//! CVP v1: the Compressed Video Protocol's records, carriers and reassembly (no I/O)
