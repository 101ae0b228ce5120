"""Lambda handlers behind the stack's custom resources, inlined into the template.

template_builder.lambda_code turns each handler plus protocol.py into one ``Code.ZipFile`` source.
"""
