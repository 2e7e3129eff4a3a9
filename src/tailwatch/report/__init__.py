"""Report writers: the itinerary JSON plus each aircraft's points, rendered for people and GIS tools."""
