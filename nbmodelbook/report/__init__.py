"""The review report: annotations + runs -> a review model -> HTML or Markdown."""
