# Homeline — Russian. Messages missing here are shown in English.
