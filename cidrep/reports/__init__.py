"""Read-side views over the stored state: the fleet (``status``) and one number (``report``)."""
