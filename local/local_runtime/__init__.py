"""The local runtime: AWS (moto server) provisioned from template.yaml, the in-process Lambda runner,
the API routes on loopback and the demo. Test and demo infrastructure only; never shipped.
"""
