# The dialer image: workers, flower and the simulator all run from it.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dialer ./dialer
COPY tasks ./tasks
COPY campaigns ./campaigns
RUN pip install --no-cache-dir -e . "flower==2.0.1"
# The app runs as an unprivileged user.
RUN useradd --create-home dialer
USER dialer
CMD ["celery", "-A", "tasks", "worker", "--pool", "threads", "--concurrency", "32"]
