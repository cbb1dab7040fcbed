"""The digits: the MNIST arrays, preprocessing any picture into a 28x28 digit, the robustness
suites and the explorer's choices. NumPy and Pillow only; imports nothing else of core.
"""
