"""Request and response models as they travel on the wire (Autumn API 2.x shapes)."""
