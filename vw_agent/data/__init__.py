"""Video datasets: the HDF5 format (:mod:`.format`), the recorder (:mod:`.record`), the loader (:mod:`.loader`).

Importing this package is light: torch and h5py load only with the loader and the shard readers.
"""
