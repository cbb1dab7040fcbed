"""All of the dashboard's logic: importable and testable without Streamlit."""
