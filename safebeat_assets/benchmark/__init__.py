"""`make bench`: SafeBeat at Austin scale on generated data, side by side with the old approach.

`workload` prepares the inputs, `scenarios` runs one scenario in its own process (so each has
its own peak memory), `rowload` compares the old row-by-row load with the bulk load, `results`
turns the measurements into the printed table and the JSON file, `main` orchestrates.
"""
