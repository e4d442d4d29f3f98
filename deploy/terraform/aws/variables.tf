variable "name" {
  description = "Prefix of every resource."
  type        = string
  default     = "export"
}

variable "bucket_name" {
  description = "The bucket the exports and their state go to; jobs.yaml names it in output.destination and state.dir."
  type        = string
}

variable "image" {
  description = "The export image, built from deploy/Dockerfile with --build-arg BASE=gcr.io/distroless/static-debian12:debug-nonroot (the task writes jobs.yaml with a shell), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/export:1.0.0."
  type        = string
}

variable "jobs_yaml" {
  description = "The jobs.yaml to run, with secrets as $${NAME} references, never inline."
  type        = string
}

variable "secrets" {
  description = "Environment variable name => Secrets Manager ARN, for the $${NAME} references of jobs.yaml."
  type        = map(string)
  default     = {}
}

variable "schedule" {
  description = "When to run, as an EventBridge Scheduler expression."
  type        = string
  default     = "cron(0 2 * * ? *)"
}

variable "subnet_ids" {
  description = "Private subnets with a route to the providers' APIs and to S3."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the task: outbound HTTPS only."
  type        = list(string)
}
