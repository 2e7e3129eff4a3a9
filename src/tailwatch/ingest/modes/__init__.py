"""Column-wise Mode S decoding: one module per message family, as pyModeS lays them out.

Every function takes a batch of messages as an (n, 14) uint8 array (short
messages zero-padded) and returns NumPy columns, so a million messages decode
with a few dozen array operations instead of a million Python objects.
`decoder.ModeSDecoder` adds the state (CPR pairs, confirmed addresses,
carried callsign/velocity/squawk) and emits canonical points.
"""
