"""Delivery channels behind one small interface; nothing here imports hub or partners."""
