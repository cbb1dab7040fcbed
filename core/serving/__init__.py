"""Answers without TensorFlow: LiteRT inference, predictions, saliency and evaluation maths, as
the Streamlit server runs them.
"""
