from django.dispatch import Signal

# Sent inside the submitting transaction, after the snapshot is written.
# Arguments: response, by. Lets the reviews app move its review along without the
# questionnaire app knowing that reviews exist.
response_submitted = Signal()
