# Homeline — Simplified Chinese. Messages missing here are shown in English.
