"""The registration gate and the champion / challenger alias plans, as pure decisions."""
