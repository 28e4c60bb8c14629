"""The demo: a realistic federation of three mutuelles, generated relative to today and loaded through the
same loaders and importers as real files, so the demo also exercises every rule."""
