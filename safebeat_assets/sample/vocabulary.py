"""Value sets of the APD 911 export, with the frequencies the generator samples from.

Shares follow the published dispatched-calls dataset (Socrata `e687-fx2y`). Weights need not sum
to one: callers normalise. Everything here is plain data, so other modules (and tests) can
check the generated output against it.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Headers: the exact text and order of the two export layouts (25 and 27 columns)
# ---------------------------------------------------------------------------------------------
CALLS_HEADER_25: tuple[str, ...] = (
    "Incident Number",
    "Incident Type",
    "Mental Health Flag",
    "Priority Level",
    "Response Datetime",
    "Response Day of Week",
    "Response Hour",
    "First Unit Arrived Datetime",
    "Call Closed Datetime",
    "Sector",
    "Initial Problem Description",
    "Initial Problem Category",
    "Final Problem Description",
    "Final Problem Category",
    "Number of Units Arrived",
    "Unit Time on Scene",
    "Call Disposition Description",
    "Report Written Flag",
    "Response Time",
    "Officer Injured/Killed Count",
    "Subject Injured/Killed Count",
    "Other Injured/Killed Count",
    "Geo ID",
    "Census Block Group",
    "Council District",
)

CALLS_HEADER_27: tuple[str, ...] = (
    "Incident Number",
    "Incident Type",
    "Council District",
    "Mental Health Flag",
    "Priority Level",
    "Response Datetime",
    "Response Year",
    "Response Month",
    "Response Day of Week",
    "Response Hour",
    "First Unit Arrived Datetime",
    "Call Closed Datetime",
    "Sector",
    "Initial Problem Description",
    "Initial Problem Category",
    "Final Problem Description",
    "Final Problem Category",
    "Number of Units Arrived",
    "Unit Time on Scene",
    "Call Disposition Description",
    "Report Written Flag",
    "Response Time",
    "Officer Injured/Killed Count",
    "Subject Injured/Killed Count",
    "Other Injured/Killed Count",
    "Geo ID",
    "Census Block Group",
)

CALLS_DATETIME_COLUMNS: tuple[str, ...] = (
    "Response Datetime",
    "First Unit Arrived Datetime",
    "Call Closed Datetime",
)
CALLS_DATETIME_FORMAT = "%Y %b %d %I:%M:%S %p"

EVENTS_HEADER: tuple[str, ...] = (
    "FOLDERRSN",
    "FOLDERTYPE",
    "FOLDERNAME",
    "STATUS",
    "TIER_TYPE",
    "EVENT_APPLICANT_ORGANIZATION",
    "START_DATE",
    "END_DATE",
    "EVENT_SETUP",
    "EVENT_TEARDOWN",
    "EVENT_LENGTH",
    "ALCOHOL_SERVED",
    "AMPLIFIED_SOUND",
    "ROAD_CLOSURE",
    "TYPE_OF_ROAD_CLOSURE",
    "GPSLATITUDE",
    "GPSLONGITUDE",
)
EVENT_DATE_FORMATS: tuple[str, ...] = ("%b %d, %Y", "%B %d, %Y %H:%M", "%Y-%m-%dT%H:%M:%S.000")

BLOCK_GROUP_COLUMNS: tuple[str, ...] = (
    "STATEFP",
    "COUNTYFP",
    "TRACTCE",
    "BLKGRPCE",
    "GEOID",
    "NAMELSAD",
    "MTFCC",
    "FUNCSTAT",
    "ALAND",
    "AWATER",
    "INTPTLAT",
    "INTPTLON",
)

# ---------------------------------------------------------------------------------------------
# Simple value sets
# ---------------------------------------------------------------------------------------------
DAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # Python weekday()
MONTH_NAMES: tuple[str, ...] = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

INCIDENT_TYPE = "Dispatched Incident"
MENTAL_HEALTH_YES = "Mental Health Incident"
MENTAL_HEALTH_NO = "Not Mental Health Incident"
MENTAL_HEALTH_SHARE = 0.115

PRIORITIES: tuple[str, ...] = ("Priority 0", "Priority 1", "Priority 2", "Priority 3")
PRIORITY_SHARES: tuple[float, ...] = (0.135, 0.178, 0.492, 0.195)

# Sector shares of dispatched calls (Jun 2021 -> Sep 2024).
SECTOR_SHARES: dict[str, float] = {
    "Edward": 0.145,
    "David": 0.132,
    "Frank": 0.119,
    "Adam": 0.115,
    "Charlie": 0.110,
    "Baker": 0.106,
    "Ida": 0.100,
    "Henry": 0.100,
    "George": 0.055,
    "Airport": 0.017,
}

# Rough anchor points of each sector (lat, lon); a block group belongs to the nearest anchor.
# Airport is special-cased: block groups within AIRPORT_RADIUS_KM of the airport.
SECTOR_ANCHORS: dict[str, tuple[float, float]] = {
    "Adam": (30.445, -97.790),
    "Baker": (30.335, -97.790),
    "Charlie": (30.275, -97.690),
    "David": (30.220, -97.830),
    "Edward": (30.360, -97.650),
    "Frank": (30.170, -97.790),
    "George": (30.272, -97.742),
    "Henry": (30.190, -97.700),
    "Ida": (30.400, -97.705),
}
AIRPORT_POINT: tuple[float, float] = (30.1975, -97.6664)
AIRPORT_RADIUS_KM = 2.6

# Council districts 1-10 (nearest anchor); 0 = outside the city.
COUNCIL_DISTRICT_ANCHORS: dict[int, tuple[float, float]] = {
    1: (30.300, -97.665),
    2: (30.165, -97.735),
    3: (30.235, -97.715),
    4: (30.355, -97.690),
    5: (30.195, -97.815),
    6: (30.455, -97.795),
    7: (30.405, -97.725),
    8: (30.235, -97.880),
    9: (30.280, -97.745),
    10: (30.340, -97.800),
}

DOWNTOWN: tuple[float, float] = (30.267, -97.743)

# Day of week weights (Mon..Sun): Fri busiest (15.0 %), Tue quietest (13.8 %), weekend ~29 %.
DOW_WEIGHTS: tuple[float, ...] = (14.20, 13.65, 14.05, 14.20, 15.00, 14.60, 14.30)

# Hour-of-day weights (0..23): Night 17.1 %, Morning 23.2 %, Afternoon 29.6 %, Evening 30.1 %.
HOUR_WEIGHTS_WEEKDAY: tuple[float, ...] = (
    3.9, 3.1, 2.6, 2.1, 1.7, 1.8,
    2.5, 3.2, 3.9, 4.5, 4.9, 5.1,
    5.0, 4.9, 4.9, 4.9, 5.0, 5.0,
    5.2, 5.3, 5.2, 5.0, 4.8, 4.5,
)  # fmt: skip
HOUR_WEIGHTS_WEEKEND: tuple[float, ...] = (
    5.6, 4.8, 4.0, 3.0, 2.1, 1.8,
    1.9, 2.3, 2.9, 3.6, 4.3, 4.8,
    4.9, 4.9, 4.9, 4.9, 5.0, 5.0,
    5.2, 5.3, 5.2, 5.1, 5.0, 5.1,
)  # fmt: skip
TIME_OF_DAY_BUCKETS: tuple[str, ...] = ("Night", "Morning", "Afternoon", "Evening")

# Hours at which calls linked to a running event happen (non-alcohol / alcohol events).
EVENT_HOUR_WEIGHTS: tuple[float, ...] = (
    2.0, 1.2, 0.6, 0.3, 0.2, 0.2,
    0.3, 0.5, 1.0, 2.0, 3.0, 4.0,
    4.8, 5.0, 5.0, 5.0, 5.5, 6.0,
    7.0, 7.5, 7.5, 7.0, 6.0, 4.0,
)  # fmt: skip
EVENT_HOUR_WEIGHTS_ALCOHOL: tuple[float, ...] = (
    4.5, 3.5, 2.0, 0.6, 0.2, 0.2,
    0.2, 0.3, 0.6, 1.2, 2.0, 3.0,
    4.0, 4.5, 4.8, 5.0, 5.5, 6.5,
    7.5, 8.5, 9.0, 9.0, 8.5, 7.0,
)  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Problem categories: (initial share %, final share %, time-of-day affinity N/M/A/E,
#                      priority affinity P0..P3, mental-health affinity, on-scene time factor)
# ---------------------------------------------------------------------------------------------
CATEGORY_TABLE: dict[str, tuple[float, float, tuple, tuple, float, float]] = {
    "Disturbance": (16.0, 13.1, (1.1, 0.6, 0.9, 1.3), (0.8, 1.5, 1.1, 0.6), 1.4, 1.0),
    "Welfare Check": (11.8, 10.2, (0.8, 1.1, 1.1, 1.0), (0.5, 1.2, 1.2, 0.7), 4.0, 1.3),
    "Trespassing": (11.2, 10.8, (1.0, 1.2, 1.0, 0.9), (0.2, 0.6, 1.4, 0.8), 0.9, 0.8),
    "Suspicious Things": (10.4, 9.2, (1.3, 0.9, 0.9, 1.0), (0.6, 1.0, 1.2, 0.7), 1.0, 0.7),
    "Alarms": (10.0, 9.9, (1.4, 1.2, 0.8, 0.9), (0.2, 0.7, 1.5, 0.6), 0.05, 0.4),
    "Crashes": (7.2, 7.5, (0.6, 1.1, 1.3, 0.9), (2.5, 1.5, 0.8, 0.3), 0.1, 1.8),
    "Traffic Stop/Hazard": (5.6, 6.3, (0.8, 1.2, 1.1, 0.9), (0.7, 1.0, 1.0, 1.2), 0.3, 0.6),
    "Assistance": (5.0, 5.5, (0.9, 1.0, 1.1, 1.0), (0.5, 0.8, 1.0, 1.2), 1.2, 1.0),
    "Other": (5.2, 4.7, (1.0, 1.0, 1.0, 1.0), (0.6, 0.8, 1.0, 1.2), 0.8, 0.8),
    "Disorderly Conduct": (2.6, 3.5, (1.6, 0.6, 0.8, 1.2), (0.5, 1.2, 1.2, 0.7), 1.2, 1.0),
    "Auto Theft": (3.1, 3.3, (0.7, 2.0, 0.8, 0.7), (0.1, 0.2, 0.5, 3.5), 0.05, 1.2),
    "Simple Assault": (2.0, 2.3, (1.5, 0.6, 0.8, 1.2), (1.0, 2.0, 0.8, 0.5), 1.0, 1.6),
    "Shoot/Stab": (2.4, 2.1, (1.8, 0.5, 0.7, 1.2), (8.0, 2.0, 0.3, 0.05), 0.6, 2.5),
    "Theft": (1.6, 1.4, (0.5, 1.1, 1.3, 1.0), (0.1, 0.3, 0.8, 2.5), 0.2, 1.2),
    "Burglary": (1.2, 1.3, (1.0, 1.4, 1.0, 0.8), (0.5, 0.8, 1.0, 1.5), 0.2, 1.6),
    "Property Damage/Vandalism": (1.0, 1.3, (1.2, 1.1, 0.9, 0.9), (0.1, 0.3, 0.8, 2.5), 0.4, 1.1),
    "Administrative": (0.3, 1.2, (0.7, 1.3, 1.2, 0.8), (0.1, 0.3, 0.8, 2.5), 0.3, 0.8),
    "Missing Persons/Kidnapping": (0.6, 0.7, (0.8, 1.0, 1.1, 1.1), (2.0, 2.0, 0.6, 0.3), 1.5, 1.8),
    "Deceased/Injured": (0.5, 0.6, (0.9, 1.2, 1.0, 0.9), (3.0, 1.5, 0.5, 0.2), 2.0, 4.0),
    "Aggravated Assault": (0.6, 0.7, (1.5, 0.6, 0.8, 1.2), (5.0, 2.0, 0.4, 0.1), 1.0, 2.5),
    "Animal Related": (0.3, 0.35, (0.6, 1.2, 1.2, 1.0), (0.3, 0.8, 1.2, 1.2), 0.3, 0.7),
    "Drugs": (0.3, 0.5, (1.4, 0.8, 0.9, 1.1), (0.5, 0.8, 1.0, 1.2), 1.0, 1.3),
    "DUI/DWI": (0.4, 0.5, (3.0, 0.3, 0.4, 1.2), (1.5, 2.5, 0.6, 0.2), 0.3, 2.2),
    "Robbery": (0.3, 0.35, (1.4, 0.6, 0.9, 1.2), (4.0, 2.0, 0.5, 0.1), 0.4, 2.0),
    "Sex Crimes": (0.3, 0.35, (1.1, 0.9, 1.0, 1.0), (1.0, 1.5, 0.8, 0.8), 0.8, 2.0),
    "Fraud/Forgery": (0.2, 0.3, (0.3, 1.4, 1.4, 0.7), (0.05, 0.1, 0.4, 3.5), 0.2, 1.0),
    "Intimidation": (0.2, 0.3, (0.9, 1.0, 1.1, 1.0), (0.3, 0.8, 1.2, 1.0), 0.8, 1.0),
    "Lost/Found Property": (0.15, 0.25, (0.4, 1.2, 1.4, 0.9), (0.05, 0.1, 0.5, 3.0), 0.2, 0.5),
    "Weapons/Firearms Violations": (
        0.25,
        0.3,
        (1.5, 0.7, 0.8, 1.1),
        (3.0, 2.0, 0.5, 0.2),
        0.8,
        1.5,
    ),
    "Viol PO/Bond": (0.15, 0.25, (1.0, 1.0, 1.0, 1.0), (0.5, 1.5, 1.0, 0.6), 0.8, 1.2),
    "Child Abuse/Neglect": (0.12, 0.15, (0.6, 1.1, 1.3, 1.0), (0.5, 1.0, 1.0, 1.0), 0.8, 1.8),
    "Arson": (0.06, 0.06, (1.6, 0.7, 0.8, 1.1), (3.0, 2.0, 0.5, 0.2), 0.8, 2.0),
    "Bomb/Explosives": (0.05, 0.04, (0.6, 1.2, 1.2, 0.9), (5.0, 2.0, 0.3, 0.1), 0.3, 2.5),
    "Evading/Resisting Arrest": (0.05, 0.12, (1.5, 0.7, 0.8, 1.1), (2.0, 2.0, 0.5, 0.2), 0.6, 1.8),
    "Warrants/RTA": (0.08, 0.2, (0.8, 1.2, 1.1, 0.9), (0.3, 0.8, 1.0, 1.2), 0.6, 1.5),
    "Person Stop/FO": (0.05, 0.1, (1.4, 0.8, 0.9, 1.0), (0.3, 0.8, 1.0, 1.2), 0.5, 0.7),
    "Prostitution": (0.02, 0.03, (2.0, 0.5, 0.7, 1.2), (0.1, 0.5, 1.0, 1.5), 0.3, 1.0),
    "Homicide": (0.01, 0.015, (1.8, 0.6, 0.7, 1.1), (10.0, 1.0, 0.1, 0.01), 0.5, 10.0),
    "Gambling": (0.00012, 0.0001, (1.2, 0.8, 0.9, 1.1), (0.1, 0.3, 1.0, 1.5), 0.2, 1.0),
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_TABLE)
SHARE_OF_CALLS_KEEPING_INITIAL_CATEGORY = 0.80

# Multipliers for calls that happen because an event is running (crowds, traffic, drinking).
EVENT_CATEGORY_AFFINITY: dict[str, float] = {
    "Disturbance": 1.5,
    "Disorderly Conduct": 3.0,
    "Crashes": 1.5,
    "Traffic Stop/Hazard": 2.5,
    "Simple Assault": 2.0,
    "Assistance": 1.8,
    "Lost/Found Property": 4.0,
    "Theft": 1.8,
    "Suspicious Things": 1.2,
    "Welfare Check": 0.8,
    "Alarms": 0.3,
    "Burglary": 0.4,
    "Auto Theft": 0.6,
    "Fraud/Forgery": 0.3,
    "Trespassing": 0.7,
}
EVENT_ALCOHOL_CATEGORY_AFFINITY: dict[str, float] = {
    "DUI/DWI": 4.0,
    "Disorderly Conduct": 2.0,
    "Simple Assault": 1.5,
    "Disturbance": 1.2,
}

# ---------------------------------------------------------------------------------------------
# Problem descriptions per category: (text, initial weight, final weight).
# Title Case, at most 30 characters; a few raw quirks (double spaces, cut at 30 characters).
# A description belongs to exactly one category.
# ---------------------------------------------------------------------------------------------
DESCRIPTIONS: dict[str, list[tuple[str, float, float]]] = {
    "Disturbance": [
        ("Disturbance Other", 40, 40),
        ("Disturbance Urgent", 20, 18),
        ("Disturbance Service", 12, 12),
        ("Disturbance Hs", 8, 6),
        ("Disturbance Vehicle Urgent", 6, 5),
        ("Disturbance Vehicle Service", 3, 3),
        ("Family Disturbance Urgent", 6, 6),
        ("Noise Complaint", 5, 6),
    ],
    "Welfare Check": [
        ("Check Welfare Urgent", 55, 50),
        ("Check Welfare Service", 30, 30),
        ("Check Welfare Hs", 6, 5),
        ("Ccd / Counselor", 6, 8),
        ("Emotionally Disturbed Person", 3, 7),
    ],
    "Trespassing": [
        ("Trespass Urgent", 70, 68),
        ("Trespass Service", 15, 14),
        ("Union Pacific Crim Trespass", 6, 6),
        ("Criminal Trespass Notice", 9, 12),
    ],
    "Suspicious Things": [
        ("Suspicious Person", 55, 55),
        ("Suspicious Vehicle", 20, 20),
        ("Prowler Hs", 8, 6),
        ("Suspicious Unknown", 8, 8),
        ("Suspicious Package", 3, 3),
        ("Found/Abandoned Hazardous", 2, 2),
    ],
    "Alarms": [
        ("Alarm Burglar", 70, 35),
        ("Alarm Glass Break", 8, 4),
        ("Alarm Robbery", 6, 4),
        ("Alarm Panic", 8, 5),
        ("Alarm Vehicle", 3, 2),
        ("False Burglar Alarm", 0, 45),
    ],
    "Crashes": [
        ("Crash Urgent", 35, 30),
        ("Crash Hs", 15, 12),
        ("Crash Service", 25, 30),
        ("Crash Leaving The Scene", 10, 12),
        ("Crash Private Property", 8, 10),
        ("Crash Fatality", 0.3, 0.5),
    ],
    "Traffic Stop/Hazard": [
        ("Traffic Hazard", 30, 35),
        ("Traffic Hazard Hs", 15, 10),
        ("Pedestrian On Hsr", 12, 10),
        ("Stalled Vehicle", 15, 15),
        ("Traffic Stop", 10, 15),
        ("Reckless Driver Urgent", 12, 8),
        ("Icy Roadway", 0.3, 0.3),
    ],
    "Assistance": [
        ("Assist Non Emergency", 30, 30),
        ("Assist Other  Agency", 15, 15),
        ("Assist Ems", 12, 12),
        ("Assist Afd", 10, 10),
        ("Ra  From Pd-No Emer", 8, 8),
        ("Call From Tcso - Non Emergenc", 6, 6),
        ("Assist Motorist", 10, 10),
        ("Leo Verify", 3, 3),
    ],
    "Other": [
        ("Nature Unknown Urgent", 25, 10),
        ("Information", 15, 15),
        ("Service", 15, 15),
        ("On Site Incident", 10, 15),
        ("Abandoned Vehicle", 8, 10),
        ("Open Door / Window", 8, 8),
        ("Fireworks", 5, 5),
        ("Solicitor", 3, 3),
    ],
    "Disorderly Conduct": [
        ("Doc / C.o. Violation", 50, 50),
        ("Doc Urgent", 15, 12),
        ("Public Intoxication", 20, 25),
        ("Doc Service", 15, 13),
    ],
    "Auto Theft": [
        ("Auto Theft Service", 45, 40),
        ("Auto Theft", 30, 30),
        ("Auto Theft Urgent", 10, 8),
        ("Stolen Vehicle Recovered", 15, 22),
    ],
    "Simple Assault": [
        ("Assault Service", 40, 40),
        ("Assault Urgent", 35, 33),
        ("Assault Hs", 15, 12),
        ("Family Violence Urgent", 10, 15),
    ],
    "Shoot/Stab": [
        ("Shots Fired", 45, 45),
        ("Shoot/Stab Hs", 15, 15),
        ("Shoot/Stab Service", 10, 10),
        ("Gun Hs", 12, 12),
        ("Gun Urgent", 12, 12),
        ("Gun Other", 6, 6),
    ],
    "Theft": [
        ("Theft", 40, 40),
        ("Theft Service", 25, 25),
        ("Theft Urgent", 15, 12),
        ("Shoplifter Urgent", 10, 10),
        ("Theft Of Service", 5, 6),
        ("Id Property Crimes", 5, 7),
    ],
    "Burglary": [
        ("Burglary Vehicle", 35, 38),
        ("Burglary Urgent", 20, 18),
        ("Burglary Hs", 10, 8),
        ("Burglary Service", 35, 36),
    ],
    "Property Damage/Vandalism": [
        ("Mischief / Vandalism", 60, 60),
        ("Graffiti", 20, 20),
        ("Criminal Mischief Urgent", 20, 20),
    ],
    "Administrative": [
        ("Follow Up", 30, 20),
        ("Prisoner Transport", 10, 8),
        ("Court Order Service", 10, 8),
        ("Admin Assignment", 10, 6),
        ("Checking Area", 0, 58),
    ],
    "Missing Persons/Kidnapping": [
        ("Missing Hs", 25, 25),
        ("Missing Service", 45, 45),
        ("Kidnapping Abduction Hs", 8, 6),
        ("Runaway", 22, 24),
    ],
    "Deceased/Injured": [
        ("Deceased Person", 55, 55),
        ("Injured Person", 30, 30),
        ("Person Down Urgent", 15, 15),
    ],
    "Aggravated Assault": [
        ("Agg Assault Hs", 40, 40),
        ("Agg Assault Urgent", 35, 35),
        ("Agg Assault Service", 25, 25),
    ],
    "Animal Related": [
        ("Animal Urgent", 50, 45),
        ("Animal Service", 30, 35),
        ("Dog Bite", 20, 20),
    ],
    "Drugs": [
        ("Drugs", 60, 60),
        ("Drug Activity Service", 25, 25),
        ("Overdose Urgent", 15, 15),
    ],
    "DUI/DWI": [
        ("Dwi Urgent", 40, 35),
        ("Intoxicated Driver Hs", 30, 25),
        ("Dwi", 30, 40),
    ],
    "Robbery": [
        ("Robbery Hs", 35, 35),
        ("Robbery Urgent", 30, 30),
        ("Robbery Service", 20, 20),
        ("Robbery By Assault", 15, 15),
    ],
    "Sex Crimes": [
        ("Sex Crime Service", 50, 50),
        ("Sex Crime Urgent", 30, 30),
        ("Sex Crime Hs", 20, 20),
    ],
    "Fraud/Forgery": [
        ("Fraud Service", 60, 60),
        ("Forgery Service", 20, 20),
        ("Identity Theft", 20, 20),
    ],
    "Intimidation": [
        ("Harassment Service", 40, 40),
        ("Terroristic Threat Urgent", 30, 30),
        ("Stalking Service", 15, 15),
        ("Threats Urgent", 15, 15),
    ],
    "Lost/Found Property": [
        ("Lost Property", 40, 40),
        ("Found Property", 60, 60),
    ],
    "Weapons/Firearms Violations": [
        ("Weapon Violation", 50, 50),
        ("Display Of Weapon Urgent", 30, 30),
        ("Person With Weapon Hs", 20, 20),
    ],
    "Viol PO/Bond": [
        ("Viol Protective Order", 60, 60),
        ("Viol Bond Conditions", 40, 40),
    ],
    "Child Abuse/Neglect": [
        ("Child Abuse Service", 50, 50),
        ("Child Neglect", 30, 30),
        ("Child Abuse Urgent", 20, 20),
    ],
    "Arson": [("Arson", 50, 60), ("Arson Urgent", 50, 40)],
    "Bomb/Explosives": [("Bomb Threat Urgent", 70, 70), ("Suspicious Device Hs", 30, 30)],
    "Evading/Resisting Arrest": [("Evading", 60, 60), ("Resisting Arrest", 40, 40)],
    "Warrants/RTA": [("Warrant Service", 60, 60), ("Request To Apprehend", 40, 40)],
    "Person Stop/FO": [("Person Stop", 60, 60), ("Field Observation", 40, 40)],
    "Prostitution": [("Prostitution", 100, 100)],
    "Homicide": [("Murder", 60, 60), ("Homicide Hs", 40, 40)],
    "Gambling": [("Gambling", 100, 100)],
}

# Descriptions that only occur in the Airport sector (replace the general ones there).
AIRPORT_DESCRIPTIONS: dict[str, list[tuple[str, float]]] = {
    "Other": [("Airport - Ua Faa Viol", 60), ("Aircraft Alert 2", 40)],
    "Assistance": [("Tsa Spot Assist", 40), ("Airport - Tsa Assist", 30), ("Airport Assist", 30)],
    "Suspicious Things": [("Airport Unattended Bag / Lugg", 100)],
}
AIRPORT_DESCRIPTION_SHARE = 0.6

# ---------------------------------------------------------------------------------------------
# Dispositions: base share and per-category affinity
# ---------------------------------------------------------------------------------------------
DISPOSITION_SHARES: dict[str, float] = {
    "No Report": 47.5,
    "Report Written": 23.8,
    "Unable To Locate": 11.0,
    "False Alarm": 6.0,
    "10/8 From Traffic": 3.2,
    "Supplement Written": 2.4,
    "Non-Police Matter": 1.6,
    "Cleared By Other Agency": 0.25,
    "Citation Issued": 0.15,
    "Warning Issued": 0.1,
    "Referred To Other Agency": 0.08,
}
DISPOSITION_AFFINITY: dict[str, dict[str, float]] = {
    "Alarms": {"False Alarm": 60.0, "Report Written": 0.15, "Unable To Locate": 0.6},
    "Theft": {"Report Written": 3.0, "Supplement Written": 2.0},
    "Burglary": {"Report Written": 3.0, "Supplement Written": 2.0},
    "Auto Theft": {"Report Written": 3.5, "Supplement Written": 3.0},
    "Fraud/Forgery": {"Report Written": 3.5},
    "Robbery": {"Report Written": 3.5, "Supplement Written": 2.0},
    "Property Damage/Vandalism": {"Report Written": 2.5},
    "Sex Crimes": {"Report Written": 3.0},
    "Aggravated Assault": {"Report Written": 3.0, "Supplement Written": 2.0},
    "Simple Assault": {"Report Written": 2.2},
    "Child Abuse/Neglect": {"Report Written": 3.0},
    "Homicide": {"Report Written": 4.0, "Supplement Written": 4.0},
    "Shoot/Stab": {"Unable To Locate": 2.0, "Report Written": 1.3},
    "Suspicious Things": {"Unable To Locate": 2.5},
    "Crashes": {"Report Written": 1.8, "10/8 From Traffic": 3.0, "Citation Issued": 4.0},
    "Traffic Stop/Hazard": {
        "10/8 From Traffic": 6.0,
        "Unable To Locate": 1.5,
        "Citation Issued": 6.0,
        "Warning Issued": 8.0,
    },
    "Welfare Check": {"Non-Police Matter": 2.0, "Report Written": 0.5},
    "Assistance": {"Non-Police Matter": 3.0, "Cleared By Other Agency": 6.0, "Report Written": 0.4},
    "Other": {"Non-Police Matter": 2.0},
    "Disturbance": {"No Report": 1.15},
    "Trespassing": {"No Report": 1.1},
}
# Calls flagged as mental-health incidents get the MH variants of these dispositions.
MH_DISPOSITIONS: dict[str, tuple[str, float]] = {
    "Report Written": ("Report Written MH", 0.3),
    "No Report": ("No Report MH", 0.3),
}
REPORT_DISPOSITIONS: frozenset[str] = frozenset(
    {"Report Written", "Supplement Written", "Report Written MH"}
)

# Number of units arrived per priority: weights for 1..12 units.
UNITS_WEIGHTS: dict[int, tuple[float, ...]] = {
    0: (12, 38, 24, 12, 6, 3.5, 1.8, 1.0, 0.6, 0.4, 0.3, 0.2),
    1: (22, 50, 16, 6, 2.5, 1.3, 0.8, 0.5, 0.3, 0.2, 0.1, 0.1),
    2: (38, 50, 8, 2.5, 0.8, 0.4, 0.15, 0.08, 0.04, 0.03, 0.02, 0.02),
    3: (70, 26, 2.5, 0.8, 0.3, 0.1, 0.05, 0.02, 0.01, 0.01, 0.0, 0.0),
}
MASS_INCIDENT_SHARE = 1.5e-5  # calls with 13..101 units

# Response time (seconds) per priority: lognormal median and sigma.
RESPONSE_TIME_LOGNORMAL: dict[int, tuple[float, float]] = {
    0: (450.0, 0.60),
    1: (700.0, 0.70),
    2: (920.0, 1.25),
    3: (7500.0, 0.85),
}
RESPONSE_TIME_MAX = 182_878
SCENE_TIME_MEDIAN = 1900.0
SCENE_TIME_SIGMA = 1.2

# ---------------------------------------------------------------------------------------------
# ACE special events
# ---------------------------------------------------------------------------------------------
EVENT_STATUS_WEIGHTS: dict[str, float] = {
    "Active": 50,
    "Approved": 39,
    "Issued": 4,
    "Closed": 3,
    "Cancelled": 2.5,
    "Withdrawn": 1.0,
    "Pending Review": 0.5,
}
EVENT_INACTIVE_STATUSES: frozenset[str] = frozenset({"Cancelled", "Withdrawn"})
EVENT_FOLDER_TYPES: dict[str, float] = {"SE": 88, "SEA": 9, "TUP": 3}
ROAD_CLOSURE_TYPES: dict[str, float] = {
    "Full Road Closure": 55,
    "Partial Lane Closure": 30,
    "Rolling Closure": 10,
    "Sidewalk Closure": 5,
}

# Named places (lat, lon) where events happen.
VENUES: dict[str, tuple[float, float]] = {
    "Zilker Park": (30.2669, -97.7729),
    "Auditorium Shores": (30.2626, -97.7513),
    "Republic Square": (30.2680, -97.7480),
    "Texas State Capitol": (30.2747, -97.7404),
    "Congress Avenue": (30.2680, -97.7427),
    "East 6th Street": (30.2672, -97.7365),
    "Rainey Street": (30.2590, -97.7390),
    "Palmer Events Center": (30.2592, -97.7521),
    "Fiesta Gardens": (30.2510, -97.7230),
    "Mueller Lake Park": (30.2990, -97.7050),
    "The Domain": (30.4020, -97.7250),
    "Circuit of the Americas": (30.1346, -97.6411),
    "Travis County Expo Center": (30.3010, -97.6240),
    "Darrell K Royal Stadium": (30.2837, -97.7325),
    "Moody Center": (30.2817, -97.7321),
    "Q2 Stadium": (30.3877, -97.7194),
    "Pease Park": (30.2840, -97.7530),
    "South Congress": (30.2500, -97.7490),
    "Waterloo Park": (30.2745, -97.7365),
    "Butler Park": (30.2610, -97.7540),
    "Mexic-Arte Museum": (30.2669, -97.7423),
    "Hyde Park": (30.3050, -97.7280),
    "Guadalupe Street": (30.2870, -97.7420),
    "Rosewood Park": (30.2705, -97.7150),
}

# Recurring major events: (name, organiser, venue, date rule, days, tier, alcohol, sound,
# segments min, segments max). Date rules are resolved in events.py.
RECURRING_EVENTS: tuple[tuple, ...] = (
    ("Austin Marathon & Half Marathon", "High Five Events", "Congress Avenue",
     ("nth_weekday", 2, 6, 3), 1, "4", "No", "Yes", 8, 12),
    ("SXSW Conference & Festivals", "SXSW LLC", "East 6th Street",
     ("nth_weekday", 3, 4, 2), 10, "4", "Yes", "Yes", 6, 12),
    ("Rodeo Austin", "Rodeo Austin", "Travis County Expo Center",
     ("nth_weekday", 3, 5, 2), 14, "4", "Yes", "Yes", 1, 3),
    ("Statesman Capitol 10K", "Austin American-Statesman", "Congress Avenue",
     ("nth_weekday", 4, 6, 2), 1, "4", "No", "Yes", 6, 12),
    ("Eeyore's Birthday Party", "Friends of Eeyore", "Pease Park",
     ("last_weekday", 4, 5), 1, "3", "Yes", "Yes", 1, 2),
    ("Pecan Street Festival", "Pecan Street Association", "East 6th Street",
     ("nth_weekday", 5, 5, 1), 2, "3", "Yes", "Yes", 3, 6),
    ("Juneteenth Parade and Festival", "Juneteenth Central Texas", "Rosewood Park",
     ("fixed", 6, 19), 1, "3", "No", "Yes", 3, 8),
    ("Austin Symphony July 4th Concert & Fireworks", "Austin Symphony Orchestra",
     "Auditorium Shores", ("fixed", 7, 4), 1, "4", "Yes", "Yes", 2, 5),
    ("Austin Pride Parade", "Austin Pride", "Congress Avenue",
     ("nth_weekday", 8, 5, 2), 1, "4", "Yes", "Yes", 4, 10),
    ("UT Longhorns Football Game Day", "University of Texas Athletics",
     "Darrell K Royal Stadium", ("nth_weekday", 9, 5, 2), 1, "4", "Yes", "Yes", 3, 8),
    ("Pecan Street Festival", "Pecan Street Association", "East 6th Street",
     ("last_weekday", 9, 5), 2, "3", "Yes", "Yes", 3, 6),
    ("Austin City Limits Music Festival", "C3 Presents LLC", "Zilker Park",
     ("nth_weekday", 10, 4, 1), 3, "4", "Yes", "Yes", 4, 10),
    ("Austin City Limits Music Festival", "C3 Presents LLC", "Zilker Park",
     ("nth_weekday", 10, 4, 2), 3, "4", "Yes", "Yes", 4, 10),
    ("Formula 1 United States Grand Prix", "Circuit of the Americas LLC",
     "Circuit of the Americas", ("nth_weekday", 10, 4, 3), 3, "4", "Yes", "Yes", 2, 6),
    ("UT Longhorns Football Game Day", "University of Texas Athletics",
     "Darrell K Royal Stadium", ("nth_weekday", 10, 5, 3), 1, "4", "Yes", "Yes", 3, 8),
    ("Dia de los Muertos Festival", "Mexic-Arte Museum", "Mexic-Arte Museum",
     ("nth_weekday", 10, 5, 4), 1, "3", "Yes", "Yes", 2, 4),
    ("Texas Book Festival", "Texas Book Festival Inc", "Texas State Capitol",
     ("nth_weekday", 11, 5, 2), 2, "4", "No", "Yes", 3, 6),
    ("Veterans Day Parade", "Austin Veterans Day Parade Committee", "Congress Avenue",
     ("fixed", 11, 11), 1, "3", "No", "Yes", 4, 8),
    ("Thundercloud Subs Turkey Trot", "Thundercloud Subs", "Auditorium Shores",
     ("nth_weekday", 11, 3, 4), 1, "4", "No", "Yes", 6, 12),
    ("Chuy's Children Giving to Children Parade", "Chuy's Restaurants", "Congress Avenue",
     ("nth_weekday", 12, 5, 1), 1, "3", "No", "Yes", 4, 10),
    ("Austin Trail of Lights", "Austin Trail of Lights Foundation", "Zilker Park",
     ("fixed", 12, 7), 17, "4", "Yes", "Yes", 2, 4),
    ("Austin New Year's Eve Celebration", "City of Austin", "Auditorium Shores",
     ("fixed", 12, 31), 1, "4", "Yes", "Yes", 3, 8),
)  # fmt: skip

GENERIC_EVENT_KINDS: dict[str, float] = {
    "run": 26,
    "block_party": 22,
    "festival": 22,
    "parade": 8,
    "market": 8,
    "walk": 7,
    "concert": 7,
}
EVENT_CAUSES: tuple[str, ...] = (
    "Run for the Water",
    "Jingle Bell",
    "Race for the Cure",
    "Paws on Parade",
    "Sunshine",
    "Zilker Relays",
    "Shamrock",
    "Gorilla Run",
    "Hill Country Hustle",
    "Trinity Street",
    "Red Poppy",
    "Cupid's Undie",
    "Lone Star",
    "Hope for Kids",
    "Heroes",
    "Rainbow",
    "Firefly",
    "Bluebonnet",
    "Capital City",
    "Lady Bird Lake",
)
EVENT_THEMES: tuple[str, ...] = (
    "Margarita",
    "Food Truck",
    "Reggae",
    "Oktoberfest",
    "Hot Sauce",
    "Chili Cook-Off",
    "Jazz",
    "Blues",
    "Art",
    "Taco",
    "Craft Beer",
    "Film",
    "Lantern",
    "Cultural Heritage",
    "Kite",
    "Dragon Boat",
    "Bat",
    "Mariachi",
    "Wine & Food",
    "Music",
)
NEIGHBORHOODS: tuple[str, ...] = (
    "Mueller",
    "Hyde Park",
    "Travis Heights",
    "Bouldin Creek",
    "Clarksville",
    "Holly",
    "Cherrywood",
    "Windsor Park",
    "Crestview",
    "Brentwood",
    "Zilker",
    "Barton Hills",
    "Rosedale",
    "North Loop",
    "Montopolis",
    "Dove Springs",
    "Rainey Street",
    "East Cesar Chavez",
    "Allandale",
    "St. Johns",
    "Govalle",
    "Old West Austin",
    "South Lamar",
    "Hancock",
)
ORGANIZATIONS: tuple[str, ...] = (
    "High Five Events",
    "Austin Parks Foundation",
    "Do512 LLC",
    "Red Rock Events",
    "Austin Runners Club",
    "Downtown Austin Alliance",
    "Neighborhood Association",
    "Live Nation Worldwide Inc",
    "Capital Area Food Bank",
    "Austin Sports Commission",
    "Heart of Texas Events",
    "Austin Film Society",
    "Keep Austin Beautiful",
    "Rotary Club of Austin",
    "Travis County ESD",
    "Big Brothers Big Sisters",
)
STREETS: tuple[str, ...] = (
    "Congress Ave",
    "E 6th St",
    "W 6th St",
    "W 2nd St",
    "Cesar Chavez St",
    "Red River St",
    "Trinity St",
    "San Jacinto Blvd",
    "Brazos St",
    "Colorado St",
    "Lavaca St",
    "Guadalupe St",
    "W 4th St",
    "E 5th St",
    "Rainey St",
    "Riverside Dr",
    "Barton Springs Rd",
    "S 1st St",
    "S Lamar Blvd",
    "N Lamar Blvd",
    "Manor Rd",
    "E 11th St",
    "E 12th St",
    "Airport Blvd",
    "Burnet Rd",
    "N Loop Blvd",
    "Mueller Blvd",
    "Aldrich St",
    "Duval St",
    "Speedway",
    "E 7th St",
    "Azie Morton Rd",
    "Robert E Lee Rd",
    "Nueces St",
    "San Antonio St",
    "W 11th St",
)
CROSS_STREETS: tuple[str, ...] = (
    "1st St",
    "2nd St",
    "3rd St",
    "4th St",
    "5th St",
    "7th St",
    "8th St",
    "9th St",
    "10th St",
    "11th St",
    "15th St",
    "Cesar Chavez St",
    "Riverside Dr",
    "Red River St",
    "Trinity St",
    "Congress Ave",
    "I-35 Frontage Rd",
    "Lamar Blvd",
    "Guadalupe St",
    "Barton Springs Rd",
    "Dean Keeton St",
    "MLK Jr Blvd",
    "Waller St",
    "Chicon St",
)
UNPARSEABLE_DATES: tuple[str, ...] = ("TBD", "See Attached", "Various Dates", "N/A")
