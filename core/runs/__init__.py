"""The runs folder, the only channel between processes: the registry, atomic files, process
identity, what runs produced, who may change them and the limits on visitors.
"""
