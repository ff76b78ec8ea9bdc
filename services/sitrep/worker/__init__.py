"""The stream processor: faust agents that file events in ledgers and publish the views."""
