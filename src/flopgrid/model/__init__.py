"""The chain as pure array functions, one module per stage.

Arrays follow the axis order ``(sample, year, region, item)``; any axis may have length 1 and broadcast.
Flows (wafers started, chips produced, energy, money) are per model year; stocks (capacity, installed
fleet) are at the end of the year.
"""
