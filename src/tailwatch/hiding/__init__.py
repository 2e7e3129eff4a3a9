"""Aircraft that hide and GNSS interference: went dark, position withheld, jamming and spoofing."""
