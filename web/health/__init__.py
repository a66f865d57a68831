"""Site health: every speaker site's state, plan, playbacks and alerts, and a map."""
