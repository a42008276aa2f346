"""ldtui: a terminal console for LaunchDarkly big segment stores."""

__version__ = "0.1.0"
