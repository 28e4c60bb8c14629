"""The governance register (C102 art. 72, participation of the insured): general assemblies and board meetings,
their attendance and quorum, and the resolutions they voted."""
